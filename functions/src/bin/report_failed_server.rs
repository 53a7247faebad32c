//! The `report_failed_server` Lambda: see `im_functions::by_name::report_failed_server`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::report_failed_server()).await
}
