//! The `list_friend_requests` Lambda: see `im_functions::by_name::list_friend_requests`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::list_friend_requests()).await
}
